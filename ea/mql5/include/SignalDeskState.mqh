//+------------------------------------------------------------------+
//| SignalDeskState.mqh: the persisted set of executed command ids   |
//| Mirrors ea/client_state.py. A tab-separated text file in         |
//| MQL5/Files/SignalDesk/, rewritten through a temporary file and   |
//| FileMove on every change. A command is saved as "executing"      |
//| BEFORE anything reaches the broker and as "done" (with its acks) |
//| before an ack is sent: after a restart an "executing" open is    |
//| looked up at the broker by its comment, never placed twice. An   |
//| "executing" entry with `unsure` set had an unknown result (a     |
//| timeout): it is never sent again, only looked for.               |
//| Format 2 (text fields prefixed with "=", so no field is ever     |
//| empty and StringSplit cannot drop one):                          |
//|   V 2                                                            |
//|   E =id =state =type =comment ticket =status signal expires      |
//|     volume since unsure updated                                  |
//|   K =id sent(0/1) =ack json      (every ack, in order)           |
//| Format 1 (E with 9 fields, A = unsent ack) is still read.        |
//| At most SD_MAX_ENTRIES entries: the oldest finished, fully acked |
//| ones are forgotten first (ea/client_state.py: MAX_ENTRIES).      |
//+------------------------------------------------------------------+
#include "SignalDeskJson.mqh"

#define SD_EXECUTING   "executing"
#define SD_DONE        "done"
#define SD_MAX_ENTRIES 5000

struct SdEntry
  {
   string            id;
   string            state;
   string            type;
   string            comment;
   long              ticket;
   string            status;       // the latest status acked (or to be acked)
   long              signal_id;
   long              expires;      // UTC, 0 = none
   double            volume;       // our filled volume (a netting position may hold more)
   long              since;        // UTC time of placement: where history lookups start
   long              unsure;       // UTC time a result became unknown, 0 = none
   long              updated;      // UTC time of the last change
  };

struct SdAckRec
  {
   string            id;
   string            json;
   bool              sent;         // confirmed by the server
  };

string SdField(const string value) { return "="+value; }

string SdUnfield(const string field,const bool prefixed)
  {
   return prefixed ? StringSubstr(field,1) : field;
  }

//--- tabs and line breaks cannot live in a line of the state file
string SdOneLine(const string text)
  {
   string out=text;
   StringReplace(out,"\t"," ");
   StringReplace(out,"\r"," ");
   StringReplace(out,"\n"," ");
   return out;
  }

class CSdState
  {
private:
   string            m_file;
   SdEntry           m_entries[];
   SdAckRec          m_acks[];

   bool              ReadEntry(string &f[],const int n,const bool v2)
     {
      if(n!=(v2 ? 13 : 9))
         return false;
      int i=ArraySize(m_entries);
      ArrayResize(m_entries,i+1);
      m_entries[i].id=SdUnfield(f[1],v2);
      m_entries[i].state=SdUnfield(f[2],v2);
      m_entries[i].type=SdUnfield(f[3],v2);
      m_entries[i].comment=SdUnfield(f[4],v2);
      m_entries[i].ticket=StringToInteger(f[5]);
      m_entries[i].status=SdUnfield(f[6],v2);
      m_entries[i].signal_id=StringToInteger(f[7]);
      m_entries[i].expires=StringToInteger(f[8]);
      m_entries[i].volume=v2 ? StringToDouble(f[9]) : 0.0;
      m_entries[i].since=v2 ? StringToInteger(f[10]) : 0;
      m_entries[i].unsure=v2 ? StringToInteger(f[11]) : 0;
      m_entries[i].updated=v2 ? StringToInteger(f[12]) : (long)TimeGMT();
      return m_entries[i].id!="";
     }

   bool              ReadLine(const string line,bool &v2)
     {
      string f[];
      int n=StringSplit(line,'\t',f);
      if(n==2 && f[0]=="V")
        {
         v2=f[1]=="2";
         return v2;
        }
      if(n>=1 && f[0]=="E")
         return ReadEntry(f,n,v2);
      if(v2 && n==4 && f[0]=="K")
        {
         AddAck(SdUnfield(f[1],true),SdUnfield(f[3],true),f[2]=="1");
         return true;
        }
      if(!v2 && n==3 && f[0]=="A") // format 1: an unsent ack
        {
         AddAck(f[1],f[2],false);
         return true;
        }
      return false;
     }

   void              AddAck(const string id,const string json,const bool sent)
     {
      int n=ArraySize(m_acks);
      ArrayResize(m_acks,n+1);
      m_acks[n].id=id;
      m_acks[n].json=json;
      m_acks[n].sent=sent;
     }

   bool              AllSent(const string id)
     {
      for(int k=0;k<ArraySize(m_acks);k++)
         if(m_acks[k].id==id && !m_acks[k].sent)
            return false;
      return true;
     }

   void              Remove(const int index)
     {
      string id=m_entries[index].id;
      int n=ArraySize(m_entries);
      for(int i=index;i<n-1;i++)
         m_entries[i]=m_entries[i+1];
      ArrayResize(m_entries,n-1);
      int kept=0;
      for(int k=0;k<ArraySize(m_acks);k++)
         if(m_acks[k].id!=id)
            m_acks[kept++]=m_acks[k];
      ArrayResize(m_acks,kept);
     }

   //--- forget the oldest finished, fully acked commands beyond SD_MAX_ENTRIES (the array
   //--- is in the order commands arrived, so the first one that may go is the oldest)
   void              Prune(void)
     {
      int i=0;
      while(ArraySize(m_entries)>SD_MAX_ENTRIES && i<ArraySize(m_entries))
        {
         bool followed=m_entries[i].type=="open"
                       && (m_entries[i].status=="placed" || m_entries[i].status=="filled");
         if(m_entries[i].state!=SD_DONE || followed || !AllSent(m_entries[i].id))
            i++;
         else
            Remove(i);
        }
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
      bool ok=true,v2=false;
      while(!FileIsEnding(h))
        {
         string line=FileReadString(h);
         if(StringLen(line)>0 && !ReadLine(line,v2))
            ok=false;
        }
      FileClose(h);
      return ok;
     }

   bool              Save(void)
     {
      Prune();
      string tmp=m_file+".tmp";
      int h=FileOpen(tmp,FILE_WRITE|FILE_TXT|FILE_ANSI);
      if(h==INVALID_HANDLE)
         return false;
      FileWriteString(h,"V\t2\n");
      for(int i=0;i<ArraySize(m_entries);i++)
        {
         SdEntry e=m_entries[i];
         FileWriteString(h,"E\t"+SdField(e.id)+"\t"+SdField(e.state)+"\t"+SdField(e.type)+"\t"
                         +SdField(e.comment)+"\t"+IntegerToString(e.ticket)+"\t"
                         +SdField(e.status)+"\t"+IntegerToString(e.signal_id)+"\t"
                         +IntegerToString(e.expires)+"\t"+SdNumber(e.volume)+"\t"
                         +IntegerToString(e.since)+"\t"+IntegerToString(e.unsure)+"\t"
                         +IntegerToString(e.updated)+"\n");
        }
      for(int k=0;k<ArraySize(m_acks);k++)
         FileWriteString(h,"K\t"+SdField(m_acks[k].id)+"\t"+(m_acks[k].sent ? "1" : "0")+"\t"
                         +SdField(m_acks[k].json)+"\n");
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
                           const long signal_id,const long expires,const long ticket)
     {
      int i=ArraySize(m_entries);
      ArrayResize(m_entries,i+1);
      m_entries[i].id=id;
      m_entries[i].state=SD_EXECUTING;
      m_entries[i].type=type;
      m_entries[i].comment=SdOneLine(comment);
      m_entries[i].ticket=ticket;
      m_entries[i].status="";
      m_entries[i].signal_id=signal_id;
      m_entries[i].expires=expires;
      m_entries[i].volume=0.0;
      m_entries[i].since=0;
      m_entries[i].unsure=0;
      m_entries[i].updated=(long)TimeGMT();
      return Save();
     }

   //--- mark "done" with the ack queued, and save: call BEFORE the ack is sent.
   //--- `volume` > 0 is our filled volume (recorded with "filled"), `since` the placement
   bool              Record(const string id,const string status,const long ticket,
                            const double volume,const long since,const string ack_json)
     {
      int i=Find(id);
      if(i<0)
        {
         if(!Begin(id,"","",0,0,0))
            return false;
         i=Find(id);
        }
      m_entries[i].state=SD_DONE;
      m_entries[i].status=status;
      m_entries[i].unsure=0;
      m_entries[i].updated=(long)TimeGMT();
      if(ticket>0)
         m_entries[i].ticket=ticket;
      if(status=="filled" && volume>0 && m_entries[i].type=="open")
         m_entries[i].volume=volume;
      if(since>0 && m_entries[i].since==0)
         m_entries[i].since=since;
      AddAck(id,ack_json,false);
      return Save();
     }

   //--- an "executing" command that never reached the broker (AutoTrading off, no
   //--- connection before sending): dropped, so the server's redelivery runs it later
   void              Forget(const string id)
     {
      int i=Find(id);
      if(i>=0 && m_entries[i].state==SD_EXECUTING)
        {
         Remove(i);
         Save();
        }
     }

   //--- the broker did not tell whether the request was carried out: keep "executing"
   //--- (never send it again) until the broker shows the outcome
   void              MarkUnsure(const string id,const long ticket)
     {
      int i=Find(id);
      if(i<0 || m_entries[i].unsure>0)
         return;
      m_entries[i].unsure=(long)TimeGMT();
      m_entries[i].updated=m_entries[i].unsure;
      if(ticket>0)
         m_entries[i].ticket=ticket;
      Save();
     }

   //--- the index of the next ack the server has not confirmed, -1 when none
   int               NextUnsent(const int after)
     {
      for(int k=after+1;k<ArraySize(m_acks);k++)
         if(!m_acks[k].sent)
            return k;
      return -1;
     }
   string            AckJson(const int k) { return m_acks[k].json; }
   string            AckId(const int k) { return m_acks[k].id; }
   bool              HasUnsent(void) { return NextUnsent(-1)>=0; }

   //--- the server confirmed (or refused for good) ack `k`
   void              MarkSent(const int k)
     {
      if(k>=0 && k<ArraySize(m_acks) && !m_acks[k].sent)
        {
         m_acks[k].sent=true;
         Save();
        }
     }

   //--- the server redelivered a command we finished: send all its acks again, in order
   void              ResendAll(const string id)
     {
      bool changed=false;
      for(int k=0;k<ArraySize(m_acks);k++)
         if(m_acks[k].id==id && m_acks[k].sent)
           {
            m_acks[k].sent=false;
            changed=true;
           }
      if(changed)
         Save();
     }

   //--- the newest open command of `signal_id` that has a ticket; -1 if none
   int               OpenForSignal(const long signal_id)
     {
      int best=-1;
      if(signal_id<=0)
         return -1;
      for(int i=0;i<ArraySize(m_entries);i++)
         if(m_entries[i].type=="open" && m_entries[i].signal_id==signal_id
            && m_entries[i].ticket>0 && (best<0 || m_entries[i].updated>=m_entries[best].updated))
            best=i;
      return best;
     }
  };
//+------------------------------------------------------------------+
