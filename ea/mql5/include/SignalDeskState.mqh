//+------------------------------------------------------------------+
//| SignalDeskState.mqh: the persisted set of executed command ids   |
//| A tab-separated text file in MQL5/Files/SignalDesk/, rewritten   |
//| through a temporary file and FileMove on every change. An OPEN   |
//| is saved as "executing" BEFORE the order is sent and as "done"   |
//| before its ack is sent: after a restart an "executing" id is     |
//| looked up at the broker by its comment, never placed twice.      |
//| Lines: E <id> <state> <type> <comment> <ticket> <status>         |
//|          <signal id> <expires utc>                               |
//|        A <id> <ack json>   (acks the server has not confirmed)   |
//+------------------------------------------------------------------+
#define SD_EXECUTING "executing"
#define SD_DONE      "done"

struct SdEntry
  {
   string            id;
   string            state;
   string            type;
   string            comment;
   long              ticket;
   string            status;
   long              signal_id;
   long              expires;
  };

struct SdPendingAck
  {
   string            id;
   string            json;
  };

class CSdState
  {
private:
   string            m_file;
   SdEntry           m_entries[];
   SdPendingAck      m_acks[];

   bool              ReadLine(const string line)
     {
      string f[];
      int n=StringSplit(line,'\t',f);
      if(n==3 && f[0]=="A")
        {
         QueueAck(f[1],f[2]);
         return true;
        }
      if(n!=9 || f[0]!="E")
         return false;
      int i=ArraySize(m_entries);
      ArrayResize(m_entries,i+1);
      m_entries[i].id=f[1];
      m_entries[i].state=f[2];
      m_entries[i].type=f[3];
      m_entries[i].comment=f[4];
      m_entries[i].ticket=StringToInteger(f[5]);
      m_entries[i].status=f[6];
      m_entries[i].signal_id=StringToInteger(f[7]);
      m_entries[i].expires=StringToInteger(f[8]);
      return true;
     }

public:
   //--- false when the file exists but cannot be read: the EA must not trade then
   bool              Load(const string device_id)
     {
      FolderCreate("SignalDesk");
      m_file="SignalDesk\\"+device_id+".state";
      ArrayResize(m_entries,0);
      ArrayResize(m_acks,0);
      if(!FileIsExist(m_file))
         return true;
      int h=FileOpen(m_file,FILE_READ|FILE_TXT|FILE_ANSI);
      if(h==INVALID_HANDLE)
         return false;
      bool ok=true;
      while(!FileIsEnding(h))
        {
         string line=FileReadString(h);
         if(StringLen(line)>0 && !ReadLine(line))
            ok=false;
        }
      FileClose(h);
      return ok;
     }

   bool              Save(void)
     {
      string tmp=m_file+".tmp";
      int h=FileOpen(tmp,FILE_WRITE|FILE_TXT|FILE_ANSI);
      if(h==INVALID_HANDLE)
         return false;
      for(int i=0;i<ArraySize(m_entries);i++)
         FileWriteString(h,StringFormat("E\t%s\t%s\t%s\t%s\t%I64d\t%s\t%I64d\t%I64d\n",
                         m_entries[i].id,m_entries[i].state,m_entries[i].type,
                         m_entries[i].comment,m_entries[i].ticket,m_entries[i].status,
                         m_entries[i].signal_id,m_entries[i].expires));
      for(int i=0;i<ArraySize(m_acks);i++)
         FileWriteString(h,"A\t"+m_acks[i].id+"\t"+m_acks[i].json+"\n");
      FileFlush(h);
      FileClose(h);
      return FileMove(tmp,0,m_file,FILE_REWRITE);
     }

   int               Find(const string id)
     {
      for(int i=ArraySize(m_entries)-1;i>=0;i--)
         if(m_entries[i].id==id)
            return i;
      return -1;
     }

   int               Total(void) { return ArraySize(m_entries); }
   void              Get(const int i,SdEntry &out) { out=m_entries[i]; }

   //--- mark "executing" and save: call BEFORE anything reaches the broker
   bool              Begin(const string id,const string type,const string comment,
                           const long signal_id,const long expires)
     {
      int i=ArraySize(m_entries);
      ArrayResize(m_entries,i+1);
      m_entries[i].id=id;
      m_entries[i].state=SD_EXECUTING;
      m_entries[i].type=type;
      m_entries[i].comment=comment;
      m_entries[i].ticket=0;
      m_entries[i].status="";
      m_entries[i].signal_id=signal_id;
      m_entries[i].expires=expires;
      return Save();
     }

   //--- mark "done" with the ack queued, and save: call BEFORE the ack is sent
   bool              Record(const string id,const string status,const long ticket,
                            const string ack_json)
     {
      int i=Find(id);
      if(i<0)
        {
         if(!Begin(id,"","",0,0))
            return false;
         i=Find(id);
        }
      m_entries[i].state=SD_DONE;
      m_entries[i].status=status;
      if(ticket>0)
         m_entries[i].ticket=ticket;
      QueueAck(id,ack_json);
      return Save();
     }

   void              QueueAck(const string id,const string json)
     {
      int n=ArraySize(m_acks);
      ArrayResize(m_acks,n+1);
      m_acks[n].id=id;
      m_acks[n].json=json;
     }

   int               AckCount(void) { return ArraySize(m_acks); }
   string            AckJson(const int i) { return m_acks[i].json; }

   //--- the first `count` queued acks were confirmed by the server
   void              DropAcks(const int count)
     {
      if(count<=0)
         return;
      int n=ArraySize(m_acks);
      for(int i=count;i<n;i++)
         m_acks[i-count]=m_acks[i];
      ArrayResize(m_acks,MathMax(n-count,0));
      Save();
     }

   long              TicketForSignal(const long signal_id)
     {
      for(int i=ArraySize(m_entries)-1;i>=0;i--)
         if(m_entries[i].type=="open" && m_entries[i].signal_id==signal_id
            && m_entries[i].ticket>0)
            return m_entries[i].ticket;
      return 0;
     }
  };
//+------------------------------------------------------------------+
