//+------------------------------------------------------------------+
//|                                                 SignalDeskEA.mq5 |
//| The SignalDesk reference Expert Advisor for MetaTrader 5.        |
//| Speaks the /ea/v1 protocol exactly as ea/client.py (the Python   |
//| reference EA) does: signed long polling for commands, execution  |
//| with CTrade, acks, account/positions and symbol reports, local   |
//| guards and a persisted set of executed command ids.              |
//| Allow the server URL in Tools > Options > Expert Advisors >      |
//| "Allow WebRequest for listed URL". Encrypted payloads are not    |
//| supported here: keep payload encryption off for this terminal.   |
//+------------------------------------------------------------------+
#property copyright "SignalDesk"
#property version   "1.00"
#property description "Executes approved SignalDesk trades; reports fills and positions."

#include "include/SignalDeskHttp.mqh"
#include "include/SignalDeskState.mqh"
#include "include/SignalDeskTrade.mqh"
#include "include/SignalDeskReports.mqh"

input string InpServer       = "https://signaldesk.example.com"; // Server URL (whitelist it!)
input string InpDeviceId     = "";                 // Device id (dev_...)
input string InpSecret       = "";                 // Device secret (shown once)
input long   InpMagic        = 20260515;           // Magic number of our orders
input int    InpMaxSpread    = 50;                 // Max spread, points (0 = off)
input double InpMaxLot       = 1.0;                // Max volume per order, lots (0 = off)
input int    InpMaxPositions = 5;                  // Max open positions + orders (0 = off)
input int    InpPollWait     = 20;                 // Long-poll wait, seconds (0-30)
input int    InpAccountEvery = 30;                 // Account report period, seconds
input string InpSymbols      = "";                 // Symbols to report (empty: Market Watch)

CSdHttp   Http;
CSdState  State;
CSdTrader Trader;
CSdJsonParser Parser;
bool      SymbolsSent=false;
long      LastAccount=0;
long      NextPoll=0;
int       Backoff=1;
bool      Busy=false;

int OnInit()
  {
   if(InpDeviceId=="" || InpSecret=="")
     {
      Print("SignalDesk: set the device id and the secret shown when the terminal was added");
      return INIT_PARAMETERS_INCORRECT;
     }
   if(!State.Load(InpDeviceId))
     {
      Print("SignalDesk: cannot read MQL5/Files/SignalDesk/",InpDeviceId,
            ".state; fix or move it away (refusing to trade rather than risk doubles)");
      return INIT_FAILED;
     }
   MathSrand((uint)GetMicrosecondCount());
   Http.Init(InpServer,InpDeviceId,InpSecret);
   Trader.Init(InpMagic,InpMaxSpread,InpMaxLot,InpMaxPositions);
   RecoverAll();
   EventSetTimer(1);
   return INIT_SUCCEEDED;
  }

void OnDeinit(const int reason)
  {
   EventKillTimer();
  }

void OnTimer()
  {
   if(Busy)
      return;
   Busy=true;
   long now=(long)TimeGMT();
   if(!SymbolsSent)
      SymbolsSent=PostSymbols();
   FlushAcks();
   Follow();
   if(now-LastAccount>=InpAccountEvery)
      ReportAccount();
   if(now>=NextPoll)
      Poll();
   Busy=false;
  }

//--- POST a JSON body; true on 2xx
bool Post(const string path,const string body)
  {
   string answer;
   int status=Http.Request("POST",path,body,answer,15000);
   return status>=200 && status<300;
  }

//--- report the symbols' specs; done once the server has judged them (2xx, or a 4xx other
//--- than 401: the specs it refused are printed, resending the same ones would not help)
bool PostSymbols()
  {
   string answer;
   int status=Http.Request("POST","/ea/v1/symbols",SdSymbolsJson(InpSymbols),answer,15000);
   if(status==-1 || status==401 || status>=500)
      return false;
   if(status!=204)
      Print("SignalDesk: symbols answer (",status,"): ",answer);
   return true;
  }

void ReportAccount()
  {
   if(Post("/ea/v1/account",SdAccountJson()))
      LastAccount=(long)TimeGMT();
  }

//--- send queued acks in order; 4xx other than 401 drops one (the server knows better)
void FlushAcks()
  {
   int done=0;
   for(int i=0;i<State.AckCount();i++)
     {
      string answer;
      int status=Http.Request("POST","/ea/v1/acks",State.AckJson(i),answer,15000);
      if(status==-1 || status==401 || status>=500)
         break;
      if(status>=300)
         Print("SignalDesk: ack refused (",status,"): ",answer);
      done++;
     }
   State.DropAcks(done);
  }

void Poll()
  {
   int wait=MathMax(0,MathMin(30,InpPollWait));
   string answer;
   int status=Http.Request("GET","/ea/v1/commands?wait="+IntegerToString(wait),"",answer,
                           (wait+15)*1000);
   if(status!=200)
     {
      NextPoll=(long)TimeGMT()+Backoff;
      Backoff=MathMin(Backoff*2,30);
      return;
     }
   Backoff=1;
   CSdJson *root=Parser.Parse(answer);
   if(root==NULL)
      return;
   CSdJson *commands=root.Get("commands");
   int count=commands==NULL ? 0 : commands.Size();
   for(int i=0;i<count;i++)
      Handle(commands.At(i));
   delete root;
   if(count>0)
     {
      FlushAcks();
      ReportAccount();
     }
  }

//--- one command: new -> executing -> done (saved before the order and before the ack)
void Handle(CSdJson *cmd)
  {
   string id=cmd.Str("id");
   if(id=="")
      return;
   int index=State.Find(id);
   if(index>=0)
     {
      SdEntry entry;
      State.Get(index,entry);
      if(entry.state==SD_DONE)
        {
         // redelivered: the server missed our ack; send the outcome again
         State.Record(id,entry.status,entry.ticket,
                      SdAck(id,entry.status,entry.ticket,0,0,0,"",0));
         return;
        }
      if(Recover(index))
         return;
     }
   else
     {
      string comment=StringSubstr(cmd.Str("comment",id),0,31);
      if(comment=="")
         comment=StringSubstr(id,0,31);
      if(!State.Begin(id,cmd.Str("type"),comment,cmd.Int("signal_id"),cmd.Int("expires_at")))
        {
         Print("SignalDesk: cannot write the state file; not executing ",id);
         return;
        }
     }
   Execute(cmd);
  }

void Execute(CSdJson *cmd)
  {
   string id=cmd.Str("id"),type=cmd.Str("type"),status="rejected",ack;
   long ticket=cmd.Int("ticket");
   if(ticket<=0)
      ticket=State.TicketForSignal(cmd.Int("signal_id"));
   if(type=="open")
     {
      SdEntry entry;
      State.Get(State.Find(id),entry); // Handle() saved it as "executing"
      string comment=entry.comment;
      ticket=0;
      ack=Trader.Open(cmd,comment,ticket,status);
     }
   else if(type=="modify")
      ack=Trader.Modify(cmd,ticket,status);
   else if(type=="cancel")
      ack=Trader.Cancel(id,ticket,status);
   else if(type=="close")
      ack=Trader.Close(cmd,ticket,status);
   else
      ack=SdRefusal(id,"unknown command type "+type);
   State.Record(id,status,type=="open" ? ticket : 0,ack);
  }

//--- record acks joined by "\n" (filled, then maybe closed)
void RecordAll(const string id,const string acks,const string status,const long ticket)
  {
   string parts[];
   int n=StringSplit(acks,'\n',parts);
   for(int i=0;i<n;i++)
      State.Record(id,i==n-1 ? status : "filled",ticket,parts[i]);
  }

//--- an interrupted OPEN: find its order, position or deals by comment; false if none
bool Recover(const int index)
  {
   SdEntry e;
   State.Get(index,e);
   if(e.type!="open")
      return false;
   for(int i=OrdersTotal()-1;i>=0;i--)
     {
      ulong t=OrderGetTicket(i);
      if(t>0 && OrderGetString(ORDER_COMMENT)==e.comment)
        {
         State.Record(e.id,"placed",(long)t,
                      SdAck(e.id,"placed",(long)t,OrderGetDouble(ORDER_PRICE_OPEN),
                            OrderGetDouble(ORDER_VOLUME_CURRENT),
                            SdUtc((datetime)OrderGetInteger(ORDER_TIME_SETUP)),"",
                            SdDigits(OrderGetString(ORDER_SYMBOL))));
         return true;
        }
     }
   if(!HistorySelect(0,TimeCurrent()+86400))
      return false;
   for(int i=HistoryDealsTotal()-1;i>=0;i--)
     {
      ulong deal=HistoryDealGetTicket(i);
      if(HistoryDealGetInteger(deal,DEAL_ENTRY)!=DEAL_ENTRY_IN
         || HistoryDealGetString(deal,DEAL_COMMENT)!=e.comment)
         continue;
      string status;
      long ticket=0;
      string acks=SdAcksFromDeals(e.id,HistoryDealGetInteger(deal,DEAL_POSITION_ID),status,
                                  ticket);
      if(acks=="")
         return false;
      RecordAll(e.id,acks,status,ticket);
      return true;
     }
   return false;
  }

void RecoverAll()
  {
   SdEntry e;
   for(int i=0;i<State.Total();i++)
     {
      State.Get(i,e);
      if(e.state==SD_EXECUTING)
         Recover(i); // the rest wait for the server's redelivery
     }
  }

//--- placed orders and open positions of our opens: ack fills, expiries and exits
void Follow()
  {
   for(int i=0;i<State.Total();i++)
     {
      SdEntry e;
      State.Get(i,e);
      if(e.type!="open" || e.state!=SD_DONE || e.ticket<=0
         || (e.status!="placed" && e.status!="filled"))
         continue;
      if(e.status=="placed" && OrderSelect((ulong)e.ticket))
        {
         if(e.expires>0 && (long)TimeGMT()>=e.expires)
            Trader.Cancel(e.id+":expiry",e.ticket,e.status); // GTC fallback: expire locally
         continue;
        }
      if(PositionSelectByTicket((ulong)e.ticket))
        {
         if(e.status=="placed")
            State.Record(e.id,"filled",e.ticket,
                         SdAck(e.id,"filled",e.ticket,PositionGetDouble(POSITION_PRICE_OPEN),
                               PositionGetDouble(POSITION_VOLUME),
                               SdUtc((datetime)PositionGetInteger(POSITION_TIME)),"",
                               SdDigits(PositionGetString(POSITION_SYMBOL))));
         continue;
        }
      string status;
      long ticket=0;
      string acks=SdAcksFromDeals(e.id,e.ticket,status,ticket);
      if(acks=="" && e.status=="placed")
         State.Record(e.id,"cancelled",e.ticket,
                      SdAck(e.id,"cancelled",e.ticket,0,0,(long)TimeGMT(),
                            "the pending order expired or was deleted at the broker",0));
      else if(status=="closed" && e.status=="placed")
         RecordAll(e.id,acks,status,ticket);
      else if(status=="closed") // already acked filled: only the close is new
         RecordAll(e.id,StringSubstr(acks,StringFind(acks,"\n")+1),status,ticket);
     }
  }
//+------------------------------------------------------------------+
